*** Settings ***
Documentation     The station loses its access point while running: Remove Access Point makes the module
...               print WIFI DISCONNECT and close its links, the firmware's status callback sees DISCONNECTED
...               and its socket NSAPI_ERROR_CONNECTION_LOST (-3016); Add Access Point brings the AP back and the
...               module rejoins by itself; told to, the firmware joins another AP; Drop Wifi Station
...               disconnects it from an AP that stays. Mbed's AP-loss case (wifi_tests, asked for on its
...               semihosting command line) passes.
Resource          resources/wifi.resource
Test Timeout      3 minutes


*** Test Cases ***
AP Loss Is Seen And The Station Rejoins When It Returns
    Start Wifi Station
    Write To Uart    open\n
    Wait For Line On Uart    wifi_station: socket open 0 echo ok    timeout=5s
    Remove Access Point    vboard
    Wait For Line On Uart    wifi_station: status DISCONNECTED    timeout=2s
    Wait For Line On Uart    wifi_station: connection lost
    Wait For Line On Uart    wifi_station: socket lost -3016
    Wifi Station Should Be Disconnected
    Should Not Be On Uart    status GLOBAL_UP    timeout=2s
    Add Access Point    vboard    password=vboard-secret    rssi=-45    channel=6    bssid=02:00:00:00:00:01
    Wait For Line On Uart    wifi_station: status CONNECTING    timeout=2s
    Wait For Line On Uart    wifi_station: status GLOBAL_UP    timeout=2s
    Wifi Station Should Be Joined    vboard
    Write To Uart    open\n
    Wait For Line On Uart    wifi_station: socket open 0 echo ok    timeout=5s

Mbed AP Loss Case Passes When The Command Line Asks For It
    [Documentation]    wifi_tests runs WIFI-AP-LOSS-RECONNECT when SYS_GET_CMDLINE has "ap-loss"; the suite
    ...    removes the AP once the case waits on its open socket, and the case reconnects to "vboard-open".
    Start Wifi Board    wifi_tests    cmdline=wifi_tests ap-loss
    Wait For Line On Uart    wifi_tests: waiting for the AP to go    timeout=90s
    Run For    100ms
    Remove Access Point    vboard
    Wait For Line On Uart    PASS WIFI-AP-LOSS-RECONNECT    timeout=30s
    Wait For Line On Uart    wifi_tests: 17 passed, 0 failed    timeout=5s
    Run For    100ms
    Board Should Have Exited    0

Station Joins Another AP When Told
    Start Wifi Station
    Remove Access Point    vboard
    Wait For Line On Uart    wifi_station: connection lost    timeout=2s
    Write To Uart    connect vboard\n
    Wait For Line On Uart    wifi_station: connect vboard: -3008    timeout=10s
    Write To Uart    connect vboard-open\n
    Wait For Line On Uart    wifi_station: connect vboard-open: 0    timeout=10s
    Wait For Line On Uart    wifi_station: status GLOBAL_UP
    Wifi Station Should Be Joined    vboard-open
    Write To Uart    status\n
    Wait For Line On Uart    wifi_station: status GLOBAL_UP ip 10.0.2.15 rssi -67

Dropped Station Rejoins By Itself
    Start Wifi Station
    Write To Uart    open\n
    Wait For Line On Uart    wifi_station: socket open 0 echo ok    timeout=5s
    Drop Wifi Station
    Wait For Line On Uart    wifi_station: status DISCONNECTED    timeout=2s
    Wait For Line On Uart    wifi_station: socket lost -3016
    Wait For Line On Uart    wifi_station: status GLOBAL_UP    timeout=5s
    Wifi Station Should Be Joined    vboard
    ${status}=    Get Wifi Status
    Should Be Equal    ${status}[access_points][0][ssid]    vboard

Drop Without A Station Fails Clearly
    Start Wifi Board    wifi_station
    Run Keyword And Expect Error    *FAILED_PRECONDITION*not joined*    Drop Wifi Station
    Run Keyword And Expect Error    *NOT_FOUND*no access point 'nope'*    Remove Access Point    nope
    Run Keyword And Expect Error    *INVALID_ARGUMENT*password*    Add Access Point    lab    password=short
