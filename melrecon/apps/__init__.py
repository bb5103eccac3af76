"""The apps layer, above the front door (:func:`melrecon.reconstruct`): the command line
(:mod:`~melrecon.apps.cli`), folder inversion (:mod:`~melrecon.apps.batch`, with its engines), the
JupyterLab workbench, the librosa drop-in (:mod:`~melrecon.apps.compat`), examples, metrics, plots and
the degradations of the robustness studies."""
