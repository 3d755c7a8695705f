*** Settings ***
Documentation     A link taken down and up again: rawping sees the carrier go and come back and recovers.
Resource          resources/vboard.resource
Test Timeout      3 minutes


*** Test Cases ***
Rawping Recovers After Link Down
    Start Simulation    ${SIMULATIONS}/rawping-pair.yaml
    Wait For Line On Uart    rawping: peer up    timeout=20s    board=client
    Set Link Down    client.eth0
    Wait For Line On Uart    rawping: link down    timeout=2s    board=client
    Run For    300ms
    Set Link Up    client.eth0
    Wait For Line On Uart    rawping: link up    timeout=5s    board=client
    ${groups}=    Wait For Line On Uart Matching    (\\d+) of 50 echoed    timeout=20s    board=client
    Should Be True    0 < ${groups}[0] < 50
    Board Should Not Have Faulted

Packet Loss Loses Some Echoes
    Start Simulation    ${SIMULATIONS}/rawping-pair.yaml
    Wait For Line On Uart    rawping: peer up    timeout=20s    board=client
    Set Packet Loss    0.3    client.eth0
    ${groups}=    Wait For Line On Uart Matching    (\\d+) of 50 echoed    timeout=30s    board=client
    Should Be True    0 < ${groups}[0] < 50
    ${c}=    Get Port Counters    client.eth0
    Should Be True    ${c}[dropped][loss] > 0
