# A server for throughput: an 8 KiB receive window (the LAN9118 RX FIFO holds
# 10 KiB: a larger burst from the host overflows it) and a 128 KiB send buffer
# (passt acknowledges on a timer; the default 4 KiB suits a small client).
echo_server_DEFS := -DVNET_TCP_RX_BUF=8192 -DVNET_TCP_TX_BUF=131072 -DVNET_TCP_BUFSETS=3
