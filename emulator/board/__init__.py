"""The board: the machine that puts CPU, memory and devices together, its platform file, firmware
images, semihosting, fault reports, simulations of several boards."""
