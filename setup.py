"""What a ROS 2 workspace needs beyond pyproject.toml, for ``colcon build`` (build type ament_python).

pip reads the package's metadata, dependencies and console scripts from pyproject.toml; colcon runs
``setup.py`` and, through setup.cfg, puts the node executables in ``lib/actial_robot`` where
``ros2 run actial_robot <node>`` and launch_ros's ``Node(package="actial_robot", ...)`` look.
The files below mark the package in the ament index and install its manifest and launch files.
"""

from glob import glob

from setuptools import setup

PACKAGE = "actial_robot"

setup(python_requires=">=3.11", data_files=[
    ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
    (f"share/{PACKAGE}", ["package.xml"]),
    (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
])
