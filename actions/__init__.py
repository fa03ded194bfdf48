"""Rasa custom actions (rasa-sdk), served by our action endpoint (actions/server.py). Thin adapters:
they call the use cases of outreach/services and say their replies. The executor imports every
module of this package and registers each Action subclass it finds."""
