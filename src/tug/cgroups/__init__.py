"""tug.cgroups"""
