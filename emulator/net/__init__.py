"""The virtual network: an Ethernet device's wire, the switch and its links, socket providers."""
