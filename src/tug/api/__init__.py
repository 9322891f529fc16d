"""tug.api"""
