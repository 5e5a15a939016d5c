"""The edge: the `appraisal` command line, `serve`, the demo and the Excel forms.

Entry points parse what a person or a script gives them, call the service and the
read side through the composition root (`bootstrap`), and print. No rule lives here.
"""
