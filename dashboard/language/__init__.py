"""Languages: the Flask-Babel glue (which language a request is in, the prompt) and the language views."""
