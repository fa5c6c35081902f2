"""python -m sohoa.cli"""
from .app import main

main()
