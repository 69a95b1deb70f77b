"""The web console: server-rendered pages for every role, calling the four services with the user's token."""
