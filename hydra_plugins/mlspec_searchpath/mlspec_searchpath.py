"""Hydra search-path plugin: mlspec's packaged configs (model presets, ...) sit *behind* the
project's own conf/ directory, so a project file of the same name always wins."""

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin


class MlspecSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        search_path.append(provider="mlspec", path="pkg://mlspec.conf")
