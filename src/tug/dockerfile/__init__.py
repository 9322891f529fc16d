"""tug.dockerfile"""
