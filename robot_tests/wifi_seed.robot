*** Settings ***
Documentation     The seed's two Mbed examples over Wi-Fi: http_get_wifi and sigio_state_machine_wifi (the
...               EthernetInterface being the ESP8266Interface) fetch http://arm.com and http://api.ipify.org
...               from an HTTP server this suite starts on ${WIFI HOST}:80 (names from `dns_records`, answered
...               by the bridge), and echo_client_wifi sends 64 KiB through the host's echo on ${WIFI HOST}:7.
...               The board is on `net=user`: the ESP8266 module's links are host sockets, and the board's
...               10.0.2.2 is ${WIFI HOST} (loopback, not network_seed.robot's 127.0.0.1: both suites hold
...               ports 80 and 7 under pabot).
Resource          resources/network.resource
Resource          resources/wifi.resource
Test Timeout      3 minutes


*** Test Cases ***
Http Get Wifi Fetches Arm Com From The Host
    Start Http Server    80    body=<html>arm.com stand-in served over Wi-Fi by the robot suite</html>\n
    ...    content_type=text/html    address=${WIFI HOST}
    Start Wifi Host Board    http_get_wifi    dns_records=arm.com=10.0.2.2
    Wait For Line On Uart    http_get_wifi: connect 0, ip 10.0.2.15    timeout=30s
    Wait For Line On Uart    HTTP/1.1 200 OK    timeout=30s
    Wait For Line On Uart    http_get_wifi: done    timeout=10s
    # AT+UART_CUR, then BAUDDIV 16: the module link really carried the fetch.
    Wait For Line On Uart    http_get_wifi: module link at 1562500 baud    timeout=5s
    Run For    100ms
    Board Should Have Exited    0
    ${requests}=    Get Http Requests
    Length Should Be    ${requests}    1
    # The seed sends exactly this: HTTP/1.0, no Host header.
    Should Be Equal    ${requests}[0][raw]    GET / HTTP/1.0\r\n\r\n
    Http Server Should Have No Errors
    [Teardown]    Stop Http Server

Sigio State Machine Wifi Queries Api Ipify Org
    Start Http Server    80    body=203.0.113.7    address=${WIFI HOST}
    Start Wifi Host Board    sigio_state_machine_wifi    dns_records=api.ipify.org=10.0.2.2
    Wait For Line On Uart    sigio_state_machine_wifi: start    timeout=5s
    Wait For Line On Uart    HTTP/1.1 200 OK    timeout=30s
    # The body came in the sample's one recv().
    Wait For Line On Uart    203.0.113.7    timeout=5s
    Wait For Line On Uart    sigio_state_machine_wifi: done    timeout=10s
    Run For    100ms
    Board Should Have Exited    0
    ${requests}=    Get Http Requests
    Length Should Be    ${requests}    1
    Should Be Equal    ${requests}[0][request_line]    GET / HTTP/1.1
    Should Be Equal    ${requests}[0][headers][host]    api.ipify.org
    Should Be Equal    ${requests}[0][headers][connection]    close
    Http Server Should Have No Errors
    [Teardown]    Stop Http Server

Echo Client Wifi Gets 64 KiB Back From The Host
    Start Inet Services    address=${WIFI HOST}
    Start Wifi Host Board    echo_client_wifi
    Wait For Line On Uart    echo_client: start, peer 10.0.2.2:7, 64 KiB    timeout=5s
    ${groups}=    Wait For Line On Uart Matching    echo_client: (\\d+) bytes echoed, (\\d+) mismatches    timeout=60s
    Should Be Equal    ${groups}[0]    65536
    Should Be Equal    ${groups}[1]    0
    Wait For Line On Uart    echo_client: done    timeout=5s
    Wait For Line On Uart    echo_client: module link at 1562500 baud    timeout=5s
    Run For    100ms
    Board Should Have Exited    0
    ${counts}=    Get Inet Counts
    Should Be Equal As Integers    ${counts}[echo_tcp]    65536
    Inet Services Should Have No Errors
    [Teardown]    Stop Inet Services
