"""Fleet audits (issue 15): one launch decision for a product of several services.

A configuration with ``[[services]]`` describes the fleet (``config.ServiceConfig``). The audits
of a fleet run where teams already run work in parallel, CI matrix jobs: ``prodaudit plan``
prints the jobs (:mod:`.plan`), each job runs ``prodaudit run --service NAME`` and records in its
``audit.json`` which fleet it belongs to (:mod:`.services`), and ``prodaudit merge`` reads every
job's ``audit.json`` (:mod:`.collect`), checks that they belong together and decides for the
fleet (:mod:`.merge`, :mod:`.model`). Without a CI, ``prodaudit run`` audits every service in one
process and merges them (:mod:`.local`). Reports: ``prodaudit.report.fleet``. Docs: docs/fleet.md.
"""
