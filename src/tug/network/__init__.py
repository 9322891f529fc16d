"""tug.network"""
