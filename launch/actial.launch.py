"""The actial graph: model server + sim_bridge + spatial_query + viewpoint_recorder.

    actial ros up launch/actial.launch.py checkpoint:=outputs/demo/grpo      # PyPI ROS 2 (no ros2 launch)
    ros2 launch launch/actial.launch.py checkpoint:=outputs/demo/grpo        # a full ROS 2 install

The graph is data (below); both launchers read it. Then ask from any node:
    ros2 service call /spatial_query/query actial_interfaces/srv/SpatialQuery "{question: ..., camera_names: [front, left], options: [...]}"
"""

ARGUMENTS = {
    "checkpoint": "outputs/demo/grpo",  # what the model server serves
    "engine": "vllm",  # vllm | transformers
    "port": "8000",
    "image_size": "112",  # camera resolution: the tiny model sees 112 px
    "publish_rate_hz": "5.0",
    "queue_size": "4",  # spatial_query: questions in flight before new ones are rejected
    "record": "true",  # run the viewpoint recorder
    "captured": "outputs/captured",  # where the recorder saves (service /viewpoint_recorder/save)
}

PROCESSES = [
    {"name": "model_server", "cmd": ["actial", "serve", "{checkpoint}", "--engine", "{engine}", "--port", "{port}"]},
]

NODES = [
    {"executable": "sim_bridge", "parameters": {"image_size": "{image_size}", "publish_rate_hz": "{publish_rate_hz}"}},
    {"executable": "spatial_query", "parameters": {"model_url": "http://127.0.0.1:{port}/v1",
                                                   "queue_size": "{queue_size}"}},
    {"executable": "viewpoint_recorder", "if": "{record}", "parameters": {"out_dir": "{captured}"}},
]


def generate_launch_description():
    """For `ros2 launch` (needs launch and launch_ros, which PyPI does not have)."""
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction
    from launch_ros.actions import Node

    from actial_robot.ros.graph import process_command

    def setup(context):
        args = {k: context.launch_configurations[k] for k in ARGUMENTS}
        actions = [ExecuteProcess(cmd=process_command([c.format(**args) for c in p["cmd"]]), name=p["name"],
                                  output="screen") for p in PROCESSES]
        for n in NODES:
            if str(n.get("if", "true")).format(**args).lower() != "true":
                continue
            params = {k: v.format(**args) for k, v in n["parameters"].items()}
            actions.append(Node(package="actial_robot", executable=n["executable"], name=n["executable"],
                                parameters=[params], output="screen"))
        return actions

    return LaunchDescription([DeclareLaunchArgument(k, default_value=v) for k, v in ARGUMENTS.items()]
                             + [OpaqueFunction(function=setup)])
