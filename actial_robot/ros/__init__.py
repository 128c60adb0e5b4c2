"""ROS 2 nodes (rclpy): sim_bridge (cameras and a robot in PyBullet) and spatial_query (the model).

Needs the `ros` extra and the actial_interfaces package (`make ros` builds it into the venv).
"""
