"""Rapport's browser app: `python app.py` (or `rapport ui`, or `make run`) serves it on 127.0.0.1:7860."""

from rapport.ui import launch

if __name__ == "__main__":
    launch()
