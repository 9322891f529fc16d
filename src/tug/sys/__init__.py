"""tug.sys"""
