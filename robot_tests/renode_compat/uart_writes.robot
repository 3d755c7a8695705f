*** Variables ***
${UART}                       sysbus.uart0
${PLATFORM}                   @platforms/boards/stm32f4_discovery-kit.repl
${BIN}                        @${FIRMWARE}/shell.elf

*** Keywords ***
Create Machine
    [Arguments]               ${echo}=${None}
    Execute Command           mach create
    Execute Command           machine LoadPlatformDescription ${PLATFORM}
    Execute Command           sysbus LoadELF ${BIN}
    Create Terminal Tester    ${UART}    defaultWaitForEcho=${echo}

*** Test Cases ***
Write Line Should Wait For The Echo By Default
    Create Machine
    Wait For Prompt On Uart   shell>
    Write Line To Uart        echo first
    # The echo of the typed line was consumed; what the command prints is next.
    ${r}=                     Wait For Next Line On Uart
    Should Be Equal           ${r.Line}    first

Write Line Should Not Wait With WaitForEcho False
    Create Machine
    Wait For Prompt On Uart   shell>
    Write Line To Uart        echo second    waitForEcho=false
    Run Keyword And Expect Error    *timeout: 0 s*    Wait For Line On Uart    second    timeout=0
    ${r}=                     Wait For Line On Uart    echo second
    Should Be Equal           ${r.Line}    echo second    # the prompt went with Wait For Prompt On Uart

A Tester Default Can Turn The Echo Wait Off
    Create Machine            echo=false
    Wait For Prompt On Uart   shell>
    Write Line To Uart        echo third
    Run Keyword And Expect Error    *timeout: 0 s*    Wait For Line On Uart    third    timeout=0

Write Line Should Fail When No Echo Comes
    Create Machine
    Wait For Prompt On Uart   shell>
    Write Line To Uart        exit
    Wait For Line On Uart     shell: bye
    Run Keyword And Expect Error    *Echo of >>lost<<*stopped*    Write Line To Uart    lost

Write Line Should End The Line With CR
    Create Machine
    Wait For Prompt On Uart   shell>
    Write To Uart             echo a
    Write Char On Uart        b
    Send Key To Uart          0x0d
    Wait For Line On Uart     ab

Write Char Delay Spaces The Characters In Virtual Time
    Create Machine
    Wait For Prompt On Uart   shell>
    Write Char Delay          0.01
    ${t0}=                    Get Virtual Time
    Write To Uart             echo slow
    ${t1}=                    Get Virtual Time
    Should Be True            0.089 < ${t1} - ${t0} < 0.091
    Write Line To Uart        ${EMPTY}    waitForEcho=false
    Wait For Line On Uart     slow

Test If Uart Is Idle Should Pass And Fail
    Create Machine
    Wait For Prompt On Uart   shell>
    Write Line To Uart        quiet 300
    Test If Uart Is Idle      0.2
    Run Keyword And Expect Error    *was not idle*quiet: done*    Test If Uart Is Idle    0.2

Should Not Be On Uart Should Pass And Fail
    Create Machine
    Wait For Prompt On Uart   shell>
    Write Line To Uart        echo here
    Should Not Be On Uart     gone    timeout=0.1
    Write Line To Uart        echo here again
    Run Keyword And Expect Error    *Unexpected entry has been found on UART*here again*
    ...                       Should Not Be On Uart    here again    timeout=0.1
