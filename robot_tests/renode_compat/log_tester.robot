*** Test Cases ***
Should Find A Fault In The Log
    Execute Command           mach create
    Execute Command           sysbus LoadELF @${FIRMWARE}/crash.elf
    Create Log Tester         1
    ${entry}=                 Wait For Log Entry    firmware fault: HardFault
    Should Contain            ${entry}    0x60000000

Should Find An Access Nothing Serves
    Execute Command           mach create
    Execute Command           sysbus LoadELF @${FIRMWARE}/crash.elf
    Create Log Tester         1
    ${entry}=                 Wait For Log Entry    no memory or device serves this address    level=Warning
    Should Start With         ${entry}    cpu: instruction fetch from 0x60000000
    Should End With           ${entry}    no memory or device serves this address

Should Filter By Level
    Execute Command           mach create
    Execute Command           sysbus LoadELF @${FIRMWARE}/crash.elf
    Create Log Tester         1
    ${entry}=                 Wait For Log Entry    HardFault    level=Error    keep=true
    Should Contain            ${entry}    firmware fault
    Run Keyword And Expect Error    *did not appear in the log*    Wait For Log Entry    HardFault    level=Info    timeout=0
    ${first}=                 Wait For Log Entry    HardFault    timeout=0
    Should Contain            ${first}    escalated from BusFault

Keep False Should Drop The Entries Up To The Match
    Execute Command           mach create
    Execute Command           sysbus LoadELF @${FIRMWARE}/crash.elf
    Create Log Tester         1
    Wait For Log Entry        firmware fault
    Run Keyword And Expect Error    *did not appear*    Wait For Log Entry    no memory or device serves    timeout=0

Should See Link Changes
    Execute Command           emulation CreateSwitch "switch"
    Execute Command           mach create "server"
    Execute Command           sysbus LoadELF @${FIRMWARE}/rawframe.elf
    Execute Command           connector Connect sysbus.ethernet switch
    Execute Command           mach create "client"
    Execute Command           sysbus LoadELF @${FIRMWARE}/rawping.elf
    Execute Command           connector Connect sysbus.ethernet switch
    Create Log Tester         1
    Should Not Be In Log      link down    timeout=0.1
    Set Link Down             client.eth0
    Run Keyword And Expect Error    *Unexpected line detected in the log: client.eth0: client.eth0 link down*
    ...                       Should Not Be In Log    link down    timeout=0
    ${entry}=                 Wait For Log Entry    client.eth0: .* link down    treatAsRegex=true
    Set Link Up               client.eth0
    Wait For Log Entry        link up    level=Info    timeout=0.1

A Failing Log String Should Fail The Wait
    Execute Command           mach create
    Execute Command           sysbus LoadELF @${FIRMWARE}/crash.elf
    Create Log Tester         1
    Register Failing Log String    Hard[Ff]ault    treatAsRegex=true
    Run Keyword And Expect Error    *Test failing entry has been found in log*
    ...                       Wait For Log Entry    this never appears
    Unregister Failing Log String    Hard[Ff]ault    treatAsRegex=true

Without A Log Tester The Keywords Should Fail
    Run Keyword And Expect Error    *Create Log Tester*    Wait For Log Entry    x
