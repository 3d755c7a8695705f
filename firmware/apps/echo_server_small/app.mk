# echo_server with VNET_TCP_SYN_OPTIONS=0 (no MSS or window scale option in its SYN-ACK) and a
# 1280-byte receive window; the send side as echo_server's.
echo_server_small_DEFS := -DVNET_TCP_RX_BUF=1280 -DVNET_TCP_SYN_OPTIONS=0 -DVNET_TCP_TX_BUF=131072 \
                          -DVNET_TCP_BUFSETS=3 -DVNET_ETH_TX_FIFO_KIB=2 -DECHO_SERVER_LIMIT_MS=600000
