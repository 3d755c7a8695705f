*** Settings ***
Documentation     Two boards on one virtual switch: rawping's frames echoed by rawframe.
Resource          resources/vboard.resource
Test Timeout      3 minutes


*** Test Cases ***
Rawping Pair Echoes Every Frame
    Start Simulation    ${SIMULATIONS}/rawping-pair.yaml
    ${server}=    Create Terminal Tester    sysbus.uart0    machine=server
    ${client}=    Create Terminal Tester    sysbus.uart0    machine=client
    Start Capture
    Wait For Line On Uart    rawframe: serving    timeout=20s    testerId=${server}
    Wait For Line On Uart    rawping: peer up    timeout=20s    testerId=${client}
    Wait For Line On Uart    50 of 50 echoed    timeout=20s    testerId=${client}
    Wait For Line On Uart    rawframe: done    timeout=5s    testerId=${server}
    Board Should Have Exited    0    board=client
    Board Should Have Exited    0    board=server
    ${n}=    Capture Should Contain    ethertype=0x88b5    min_count=100
    Capture Should Contain    ethertype=0x88b5    contains=51554954    interface=client.eth0
    ${c}=    Get Port Counters    client.eth0
    Should Be True    ${c}[rx_frames] >= 51
