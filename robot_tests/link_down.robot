*** Settings ***
Documentation     A link taken down and up again: rawping sees the carrier go and come back and recovers.
Resource          resources/vboard.resource
Test Timeout      3 minutes


*** Test Cases ***
Rawping Recovers After Link Down
    Start Simulation    ${SIMULATIONS}/rawping-pair.yaml
    ${server}=    Create Terminal Tester    sysbus.uart0    machine=server
    ${client}=    Create Terminal Tester    sysbus.uart0    machine=client
    Wait For Line On Uart    rawping: peer up    timeout=20s    testerId=${client}
    Set Link Down    client.eth0
    Wait For Line On Uart    rawping: link down    timeout=2s    testerId=${client}
    Run For    300ms
    Set Link Up    client.eth0
    Wait For Line On Uart    rawping: link up    timeout=5s    testerId=${client}
    ${groups}=    Wait For Line On Uart Matching    (\\d+) of 50 echoed    timeout=20s    testerId=${client}
    Should Be True    0 < ${groups}[0] < 50
    Board Should Not Have Faulted

Packet Loss Loses Some Echoes
    Start Simulation    ${SIMULATIONS}/rawping-pair.yaml
    ${server}=    Create Terminal Tester    sysbus.uart0    machine=server
    ${client}=    Create Terminal Tester    sysbus.uart0    machine=client
    Wait For Line On Uart    rawping: peer up    timeout=20s    testerId=${client}
    Set Packet Loss    0.3    client.eth0
    ${groups}=    Wait For Line On Uart Matching    (\\d+) of 50 echoed    timeout=30s    testerId=${client}
    Should Be True    0 < ${groups}[0] < 50
    ${c}=    Get Port Counters    client.eth0
    Should Be True    ${c}[dropped][loss] > 0
