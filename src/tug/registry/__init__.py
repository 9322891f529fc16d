"""tug.registry"""
