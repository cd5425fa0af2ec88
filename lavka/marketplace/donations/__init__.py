"""Donations to creators and their products (seed 003's Donat): services write, selectors
read, actions hold the rules, views stay thin."""
