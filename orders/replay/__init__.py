"""The replay of the public retail files through the order services, for the demo and the replay test.

`plan` reads the files into the orders to place, `locations` creates the stores and warehouses, and
`runner` places the orders through the same services as the API.
"""
