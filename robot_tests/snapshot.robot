*** Settings ***
Documentation     Snapshots: after loading one, the board repeats its UART output byte for byte.
Resource          resources/vboard.resource
Test Timeout      3 minutes


*** Test Cases ***
Demo Repeats After Load Snapshot
    Start Board    ${FIRMWARE}/demo.elf
    Wait For Line On Uart    tick 1/5    timeout=2s
    Save Snapshot    mid
    ${start}=    Get Uart Offset
    Run For    400ms
    ${first}=    Get Uart Output From    ${start}
    Should Contain    ${first}    tick 3/5
    Load Snapshot    mid
    ${again}=    Get Uart Offset
    Run For    400ms
    ${second}=    Get Uart Output From    ${again}
    Should Be Equal    ${first}    ${second}

Two Boards Repeat After Load Snapshot
    Start Simulation    ${SIMULATIONS}/rawping-pair.yaml
    ${server}=    Create Terminal Tester    sysbus.uart0    machine=server
    ${client}=    Create Terminal Tester    sysbus.uart0    machine=client
    Wait For Line On Uart    rawping: peer up    timeout=20s    testerId=${client}
    Set Packet Loss    0.2    client.eth0
    Run For    50ms
    Save Snapshot    pair
    ${start}=    Get Uart Offset    testerId=${client}
    Run For    3s
    ${first}=    Get Uart Output From    ${start}    testerId=${client}
    Should Contain    ${first}    echoed
    Load Snapshot    pair
    ${again}=    Get Uart Offset    testerId=${client}
    Run For    3s
    ${second}=    Get Uart Output From    ${again}    testerId=${client}
    Should Be Equal    ${first}    ${second}
