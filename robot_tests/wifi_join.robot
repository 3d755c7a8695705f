*** Settings ***
Documentation     Joining an access point over the ESP8266 module: a wrong password is
...               NSAPI_ERROR_AUTH_FAILURE (-3011), an unknown SSID NSAPI_ERROR_NO_SSID (-3008), both with the
...               access points the platform starts with and after the suite changed them (Add/Remove Access
...               Point before the firmware runs); scans see the access points and RSSI the suite sets; Mbed's
...               own Wi-Fi cases (wifi_tests) pass.
Resource          resources/wifi.resource
Test Timeout      3 minutes


*** Test Cases ***
Wrong Password Is An Auth Failure
    Start Wifi Station
    Write To Uart    disconnect\n
    Wait For Line On Uart    wifi_station: disconnect: 0
    Write To Uart    connect vboard not-the-secret\n
    Wait For Line On Uart    wifi_station: connect vboard: -3011    timeout=10s
    Wifi Station Should Be Disconnected
    Write To Uart    connect vboard vboard-secret\n
    Wait For Line On Uart    wifi_station: connect vboard: 0    timeout=10s
    Wifi Station Should Be Joined    vboard

Changed Password Fails The Default Credentials
    [Documentation]    http_get_wifi joins with the compile-time "vboard-secret"; the AP now wants another.
    Start Wifi Board    http_get_wifi
    Add Access Point    vboard    password=rotated-secret    rssi=-45    channel=6    bssid=02:00:00:00:00:01
    Wait For Line On Uart    http_get_wifi: connect -3011, ip none    timeout=60s
    Wait For Line On Uart    http_get_wifi: FAIL no network
    Run For    100ms
    Board Should Have Exited    1
    Wifi Station Should Be Disconnected

Unknown SSID Is No SSID
    Start Wifi Station
    Write To Uart    disconnect\n
    Wait For Line On Uart    wifi_station: disconnect: 0
    Write To Uart    connect no-such-ap password1\n
    Wait For Line On Uart    wifi_station: connect no-such-ap: -3008    timeout=10s
    Wifi Station Should Be Disconnected

Removed Access Point Is No SSID
    Start Wifi Board    http_get_wifi
    Remove Access Point    vboard
    Wait For Line On Uart    http_get_wifi: connect -3008, ip none    timeout=60s
    Run For    100ms
    Board Should Have Exited    1

Scan Sees Added Access Points And Their Rssi
    Start Wifi Station
    Add Access Point    lab    password=lab-secret-1    rssi=-58    channel=1
    Add Access Point    cafe    channel=13
    Set Access Point Rssi    vboard-open    -80
    Write To Uart    scan\n
    Wait For Line On Uart    wifi_station: scan 4    timeout=5s
    Wait For Line On Uart    wifi_station: ap vboard ch 6 rssi -45 secure
    Wait For Line On Uart    wifi_station: ap vboard-open ch 11 rssi -80 open
    Wait For Line On Uart    wifi_station: ap lab ch 1 rssi -58 secure
    Wait For Line On Uart    wifi_station: ap cafe ch 13 rssi -50 open
    Set Access Point Rssi    ${EMPTY}    -77
    Write To Uart    status\n
    Wait For Line On Uart    wifi_station: status GLOBAL_UP ip 10.0.2.15 rssi -77
    ${status}=    Get Wifi Status
    Length Should Be    ${status}[access_points]    4
    Should Be Equal As Integers    ${status}[access_points][0][rssi]    -77

Mbed Wi-Fi Cases Pass
    [Documentation]    wifi_tests: scan, wrong password (AUTH_FAILURE), unknown SSID (NO_SSID), RSSI, echo,
    ...    disconnect/reconnect, on the access points of the platform.
    Start Wifi Board    wifi_tests
    Wait For Line On Uart    PASS WIFI-CONNECT-SECURE-FAIL    timeout=30s
    Wait For Line On Uart    PASS WIFI-CONNECT-NOSSID    timeout=30s
    Wait For Line On Uart    wifi_tests: 16 passed, 0 failed    timeout=90s
    Run For    100ms
    Board Should Have Exited    0
