*** Settings ***
Documentation     echo_server's services reached from the host through port forwards of the `user` backend:
...               TCP echo (7, a line and 128 KiB compared by SHA-256), UDP echo (7), discard (9), daytime (13)
...               and chargen (19, RFC 864 lines checked), then QUIT ends the app. Host ports are free ones.
...               Daytime and chargen speak first: the host connects and only reads.
Resource          resources/network.resource
Suite Setup       Start Echo Services Board
Test Timeout      2 minutes


*** Variables ***
&{PORTS}          # host port of each service, filled by the suite setup


*** Test Cases ***
Tcp Echo Returns A Line
    ${reply}=    Tcp Exchange    ${PORTS}[echo]    hello through slirp\n
    Should Be Equal    ${reply}    hello through slirp\n
    Wait For Line On Uart    echo_server: tcp 7 from 10.0.2.2    timeout=5s

Tcp Echo Returns 128 KiB Intact
    ${summary}=    Echo Bytes Over Tcp    ${PORTS}[echo]    131072    seed=7    timeout=60s
    Log    ${summary}

Udp Echo Returns A Datagram
    ${reply}=    Udp Exchange    ${PORTS}[udp_echo]    one datagram, echoed
    Should Be Equal    ${reply}    one datagram, echoed

Discard Takes 16 KiB Without A Word
    Send To Tcp    ${PORTS}[discard]    16384    timeout=10s
    Wait For Line On Uart    echo_server: tcp 9 from 10.0.2.2    timeout=5s

Daytime Speaks First
    ${text}=    Read From Tcp    ${PORTS}[daytime]    timeout=2s
    Should Start With    ${text}    board uptime
    Wait For Line On Uart    echo_server: tcp 13 from 10.0.2.2    timeout=5s

Chargen Sends Rfc 864 Lines
    ${text}=    Read From Tcp    ${PORTS}[chargen]    size=7400    timeout=2s
    Chargen Output Should Be Valid    ${text}    lines=100
    Wait For Line On Uart    echo_server: tcp 19 from 10.0.2.2    timeout=5s

Quit Ends The Server
    ${reply}=    Tcp Exchange    ${PORTS}[echo]    QUIT\n
    Should Be Equal    ${reply}    QUIT\n
    Wait For Line On Uart    echo_server: QUIT received    timeout=10s
    Wait For Line On Uart    echo_server: done    timeout=5s
    Board Should Have Exited    0
    Board Should Not Have Faulted


*** Keywords ***
Start Echo Services Board
    ${echo}=    Get Free Port
    ${udp}=    Get Free Port
    ${discard}=    Get Free Port
    ${chargen}=    Get Free Port
    ${daytime}=    Get Free Port
    VAR    &{PORTS}    echo=${echo}    udp_echo=${udp}    discard=${discard}
    ...    chargen=${chargen}    daytime=${daytime}    scope=SUITE
    Start Networked Board    echo_server
    ...    forwards=tcp:${echo}:7,udp:${udp}:7,tcp:${discard}:9,tcp:${chargen}:19,tcp:${daytime}:13
    Wait For Line On Uart    echo_server: listening on 10.0.2.15 tcp 7 9 13 19, udp 7 9    timeout=30s
    Start Emulation
