"""The application layer: the ``lifhw`` command, the demo and the HTML report.

It sits on top of every flow (golden, analog, digital, chips, snn, sweep) and
turns their plain functions and data into commands (:mod:`lifhw.app.commands`),
demo stages (:mod:`lifhw.app.stages`) and pages (:mod:`lifhw.app.report`).
Imports go one way: ``lifhw.app`` imports the flows; no flow imports ``lifhw.app``
(a test checks this).
"""
