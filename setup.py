"""Maps the top-level design folders onto the ``crsagent`` import namespace.

``agent/``, ``tools/`` ... stay at the repository root and install as ``crsagent.agent``,
``crsagent.tools`` and so on. Sub-packages are discovered, so adding a folder with an
``__init__.py`` needs no edit here. ``crsagent/<folder>`` are symbolic links to the same folders,
for the static tools (type checkers follow a directory tree, not setuptools' editable import hook);
the build reads the real folders through ``package_dir``.
"""

from setuptools import find_packages, setup

FOLDERS = ["agent", "tools", "graphs", "prompts", "evals", "tests"]

packages = ["crsagent"]
package_dir = {"crsagent": "crsagent"}
for folder in FOLDERS:
    packages.append(f"crsagent.{folder}")
    package_dir[f"crsagent.{folder}"] = folder
    for sub in find_packages(folder):
        packages.append(f"crsagent.{folder}.{sub}")
        package_dir[f"crsagent.{folder}.{sub}"] = f"{folder}/" + sub.replace(".", "/")

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={
        "crsagent.prompts": ["*.md", "*.jinja", "*.json", "templates/*"],
        "crsagent.evals": ["conversations/*.yaml"],
        "crsagent.tools.catalog": ["*.json"],
        "crsagent.agent.llm": ["adapters/*/*"],  # the bundled model's tuned LoRA adapter
    },
    include_package_data=True,
)
