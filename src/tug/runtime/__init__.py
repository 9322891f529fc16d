"""tug.runtime"""
