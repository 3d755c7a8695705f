*** Variables ***
${UART}                       sysbus.uart0
${PLATFORM}                   @platforms/boards/stm32f4_discovery-kit.repl
${BIN}                        @${FIRMWARE}/shell.elf

*** Keywords ***
Create Machine
    Execute Command           mach create
    Execute Command           machine LoadPlatformDescription ${PLATFORM}
    Execute Command           sysbus LoadELF ${BIN}
    Create Terminal Tester    ${UART}

Shell Is Ready
    Create Machine
    Start Emulation
    Wait For Prompt On Uart   shell>

*** Test Cases ***
Should Return The Line And Its Virtual Timestamp
    Create Machine
    ${r}=                     Wait For Line On Uart    shell: ready
    Should Be Equal           ${r.Line}    shell: ready
    Should Be Equal           ${r.line}    shell: ready
    Should Be True            0 < ${r.Timestamp} < 10
    Should Be Equal           ${r.IsFailingString}    ${False}

Should Match A Regex And Return Its Groups
    Shell Is Ready
    Write Line To Uart        echo answer 42 of 7
    ${r}=                     Wait For Line On Uart    answer (\\d+) of (\\d+)    treatAsRegex=true
    Should Be Equal           ${r.Groups}[0]    42
    Should Be Equal           ${r.groups}[1]    7
    Should Be Equal           ${r.Line}    answer 42 of 7

Should Not Treat Text As A Regex By Default
    Shell Is Ready
    Write Line To Uart        echo a.c
    Write Line To Uart        echo abc
    ${r}=                     Wait For Line On Uart    abc
    Should Be Equal           ${r.Line}    abc

Should Consume The Lines Up To A Match
    Shell Is Ready
    Write Line To Uart        lines 3
    Wait For Line On Uart     line 2
    Run Keyword And Expect Error    *Line containing >>line 1<< not seen*
    ...                       Wait For Line On Uart    line 1    timeout=0
    ${r}=                     Wait For Next Line On Uart
    Should Be Equal           ${r.Line}    line 3

Timeout Zero Looks Only At What Is Already There
    Create Machine
    Wait For Prompt On Uart   shell>
    Write Line To Uart        quiet 300
    ${t0}=                    Get Virtual Time
    Run Keyword And Expect Error    *timeout*    Wait For Line On Uart    quiet: done    timeout=0
    ${t1}=                    Get Virtual Time
    Should Be Equal           ${t0}    ${t1}
    Wait For Line On Uart     quiet: done    timeout=1
    Write Line To Uart        echo already here
    Wait For Prompt On Uart   shell>
    Wait For Line On Uart     already here    timeout=0

Timeouts Are Virtual Time
    Create Machine
    Wait For Prompt On Uart   shell>
    Write Line To Uart        quiet 2000
    Run Keyword And Expect Error    *timeout: 1 s of virtual time*
    ...                       Wait For Line On Uart    quiet: done    timeout=1
    ${r}=                     Wait For Line On Uart    quiet: done    timeout=1.5
    Should Be True            2000 < ${r.Timestamp} < 2100

Timeouts Are Virtual Time On A Running Board
    # Idle time follows the host clock (Renode's default), so the board cannot sleep past the
    # deadline before the wait has begun.
    Execute Command           emulation SetGlobalAdvanceImmediately false
    Shell Is Ready
    Write Line To Uart        quiet 500
    Run Keyword And Expect Error    *timeout: 0.2 s of virtual time*
    ...                       Wait For Line On Uart    quiet: done    timeout=0.2
    # Printed after that deadline (and maybe seen by it): still there for the next wait.
    ${r}=                     Wait For Line On Uart    quiet: done    timeout=1
    Should Be True            ${r.Timestamp} > 400

Should Wait For Consecutive Lines
    Shell Is Ready
    Write Line To Uart        lines 4
    @{want}=                  Create List    line 2    line 3
    ${r}=                     Wait For Lines On Uart    ${want}
    Should Be Equal           ${r.Line}    line 3
    Write Line To Uart        lines 3
    @{gap}=                   Create List    line 1    line 3
    Run Keyword And Expect Error    *Lines starting with >>line 1<<*
    ...                       Wait For Lines On Uart    ${gap}    timeout=0.5

Match Next Line Only Looks At The Next Line
    Shell Is Ready
    Write Line To Uart        lines 3
    Wait For Line On Uart     line 1
    Run Keyword And Expect Error    *line 3*
    ...                       Wait For Line On Uart    line 3    matchNextLine=true    timeout=0.5
    Wait For Line On Uart     line 2    matchNextLine=true

Should See An Unfinished Line Only When Asked
    Create Machine
    Wait For Prompt On Uart   shell>
    Write Line To Uart        partial    waitForEcho=false
    Run Keyword And Expect Error    *progress*    Wait For Line On Uart    progress: 50%    timeout=0.005
    ${r}=                     Wait For Line On Uart    progress: 50%    includeUnfinishedLine=true    timeout=0
    Should Start With         ${r.Line}    progress: 50%

Should Strip Colour Codes
    Shell Is Ready
    Write Line To Uart        color
    ${r}=                     Wait For Line On Uart    OK
    Should Be Equal           ${r.Line}    OK
