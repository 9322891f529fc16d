"""tug.cli"""
