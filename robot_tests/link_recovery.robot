*** Settings ***
Documentation     A TCP connection survives the link going down: 256 KiB echoed by echo_server through a port
...               forward, the board's link taken down for 3 s in the middle and brought back; every byte comes
...               back (SHA-256 compared) and nothing crossed the dead link.
Resource          resources/network.resource
Test Timeout      3 minutes


*** Test Cases ***
Echo Transfer Survives A Link Down
    ${port}=    Start Echo Server Board
    Start Echo Transfer    ${port}    262144    seed=2    stall=60s
    Wait For Echo Bytes    65536    timeout=60s
    Set Link Down
    ${before}=    Get Echo Received Bytes
    ${c}=    Get Port Counters
    Should Not Be True    ${c}[up]
    Sleep    3s    # the link stays down this long (wall time = board time, realtime pacing)
    ${during}=    Get Echo Received Bytes
    # Nothing crosses the dead link, either way (bytes already past it, in slirp's or the
    # host's buffers, may still reach the client: that count is only logged).
    ${d}=    Get Port Counters
    Should Be Equal    ${d}[rx_bytes]    ${c}[rx_bytes]
    Should Be Equal    ${d}[tx_bytes]    ${c}[tx_bytes]
    Set Link Up
    ${summary}=    Wait For Echo Transfer    timeout=120s
    Log    ${summary}; ${before} bytes before the link went down, ${during} after 3 s down
    ${c}=    Get Port Counters
    Should Be True    ${c}[up]
    Tcp Exchange    ${port}    QUIT\n
    Wait For Line On Uart    echo_server: done    timeout=10s
    Board Should Have Exited    0
