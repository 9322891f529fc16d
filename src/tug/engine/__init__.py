"""tug.engine"""
