"""Rapport's shells: the `rapport` command line and the gradio app. Only this package imports typer or gradio."""
