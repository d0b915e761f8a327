"""Penguin Actors: the Penguin AI assistant's API server as an actor-model runtime on Ray."""

__version__ = "0.1.0"
