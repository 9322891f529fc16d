"""tug.store"""
