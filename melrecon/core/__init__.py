"""The core layer: settings (:mod:`~melrecon.core.config`: ``MelConfig`` and the toolkit presets), Mel
filterbanks (:mod:`~melrecon.core.filters`), the JAX transforms (:mod:`~melrecon.core.transforms`: STFT,
iSTFT, Mel, compression; validated public functions over unchecked kernels), losses, input validation,
the PGHI phase (:mod:`~melrecon.core.pghi`) and the compilation cache. Nothing here knows about methods,
files or apps."""
