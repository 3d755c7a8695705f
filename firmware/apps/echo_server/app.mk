# A server for throughput: 16 KiB TCP windows both ways (the default 4 KiB
# suits a small client's RAM budget, not a server streaming to fast hosts).
echo_server_DEFS := -DVNET_TCP_RX_BUF=16384 -DVNET_TCP_TX_BUF=131072 -DVNET_TCP_BUFSETS=3
