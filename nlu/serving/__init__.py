"""Code that runs inside the Rasa server process (not a training input): the token-checked REST
channel and the launcher that gives Rasa its API token without putting it on the command line."""
