# A server for throughput: a 12 KiB receive window, within the LAN9118 RX FIFO
# once the TX FIFO is cut to 2 KiB (one frame: sends do not wait on it), and a
# 128 KiB send buffer (passt acknowledges on a timer; the default 4 KiB suits
# a small client's RAM). It serves 10 minutes of board time unless told QUIT:
# a megabyte through a 10 % lossy link can take two.
echo_server_DEFS := -DVNET_TCP_RX_BUF=12288 -DVNET_TCP_TX_BUF=131072 -DVNET_TCP_BUFSETS=3 \
                    -DVNET_ETH_TX_FIFO_KIB=2 -DECHO_SERVER_LIMIT_MS=600000
