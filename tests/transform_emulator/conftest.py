"""The model-server fixtures for every test in this folder (tests elsewhere import them from model_fakes)."""

from tests.transform_emulator.model_fakes import demo_model, model_url, script  # noqa: F401
