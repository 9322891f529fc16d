"""tug.spec"""
