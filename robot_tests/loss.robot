*** Settings ***
Documentation     10 % packet loss on the board's port, both ways, during a TCP echo: 128 KiB come back
...               byte for byte (SHA-256 compared) and the port counters show the frames the link dropped.
Resource          resources/network.resource
Test Timeout      4 minutes


*** Test Cases ***
Echo Is Byte Exact Through Ten Percent Loss
    ${port}=    Start Echo Server Board
    Set Packet Loss    0.1
    # A segment lost several times in a row waits out 2+4+8+16 s of retransmission backoff.
    ${summary}=    Echo Bytes Over Tcp    ${port}    131072    seed=3    timeout=180s    stall=90s
    Log    ${summary}
    ${c}=    Get Port Counters
    Log    ${c}
    Should Be True    ${c}[dropped][loss] > 10    the loss did happen
    Set Packet Loss    0
    Tcp Exchange    ${port}    QUIT\n
    Wait For Line On Uart    echo_server: done    timeout=10s
    Board Should Have Exited    0
