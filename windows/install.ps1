<#
.SYNOPSIS
  Installs mfagate as a Windows service (through WinSW), or upgrades an installed one.

.DESCRIPTION
  - Copies mfagate.exe and WinSW (renamed mfagate-service.exe, with mfagate-service.xml)
    to -InstallDir (default: C:\Program Files\mfagate).
  - Creates %ProgramData%\mfagate with data\ and logs\, readable only by SYSTEM,
    Administrators and the service account (NT AUTHORITY\LocalService): the store, its
    seed.key and the admin token live there.
  - Puts a commented mfagate.toml there unless one exists (from -Config, or the Windows
    example next to this script) and checks it with `mfagate check-config`: a config that
    does not validate stops the installation before the service is touched.
  - Registers and starts the service (automatic, delayed start; restarted on failure).
  - With -OpenFirewall, allows RADIUS (UDP 1812, 1813) and LDAP (TCP 389, 636) in.

  Run it from an elevated PowerShell. WinSW is not downloaded: fetch WinSW-x64.exe from
  https://github.com/winsw/winsw/releases (2.12 or 3.x), check its checksum, and pass it.

.EXAMPLE
  .\install.ps1 -Binary .\mfagate.exe -WinSW .\WinSW-x64.exe -OpenFirewall
#>
[CmdletBinding()]
param(
  [Parameter(Mandatory)] [string] $Binary,
  [Parameter(Mandatory)] [string] $WinSW,
  [string] $InstallDir = (Join-Path $env:ProgramFiles 'mfagate'),
  [string] $Config,
  [switch] $OpenFirewall
)
$ErrorActionPreference = 'Stop'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  throw 'Run this script from an elevated PowerShell (Run as administrator).'
}
foreach ($f in @($Binary, $WinSW)) {
  if (-not (Test-Path -LiteralPath $f -PathType Leaf)) { throw "No such file: $f" }
}

$here = Split-Path -Parent $MyInvocation.MyCommand.Path
$dataRoot = Join-Path $env:ProgramData 'mfagate'
$configPath = Join-Path $dataRoot 'mfagate.toml'
$service = Join-Path $InstallDir 'mfagate-service.exe'

# Program files: an upgrade stops the service first (the binary is locked while it runs).
$existing = Get-Service -Name 'mfagate' -ErrorAction SilentlyContinue
if ($existing -and $existing.Status -ne 'Stopped') {
  Write-Host 'Stopping the running mfagate service for the upgrade'
  & $service stop
}
New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
Copy-Item -LiteralPath $Binary -Destination (Join-Path $InstallDir 'mfagate.exe') -Force
Copy-Item -LiteralPath $WinSW -Destination $service -Force
Copy-Item -LiteralPath (Join-Path $here 'mfagate-service.xml') -Destination (Join-Path $InstallDir 'mfagate-service.xml') -Force

# Data: owner-only in spirit. Inheritance from %ProgramData% (where Users may read) is cut.
foreach ($d in @($dataRoot, (Join-Path $dataRoot 'data'), (Join-Path $dataRoot 'logs'))) {
  New-Item -ItemType Directory -Force -Path $d | Out-Null
}
& icacls.exe $dataRoot /inheritance:r /grant:r 'SYSTEM:(OI)(CI)F' 'BUILTIN\Administrators:(OI)(CI)F' 'NT AUTHORITY\LocalService:(OI)(CI)M' | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls failed on $dataRoot" }

if (-not (Test-Path -LiteralPath $configPath)) {
  $source = if ($Config) { $Config } else { Join-Path $here 'mfagate.toml' }
  Copy-Item -LiteralPath $source -Destination $configPath
  Write-Host "Wrote $configPath: edit it (RADIUS clients, primary, second factor) before real use."
}
& (Join-Path $InstallDir 'mfagate.exe') check-config -c $configPath
if ($LASTEXITCODE -ne 0) { throw "$configPath does not validate; the service was not (re)started." }

if (-not $existing) {
  & $service install
  if ($LASTEXITCODE -ne 0) { throw 'WinSW could not install the service.' }
} else {
  & $service refresh
}
& $service start
if ($LASTEXITCODE -ne 0) { throw "The service did not start: see $dataRoot\logs." }

if ($OpenFirewall) {
  if (-not (Get-NetFirewallRule -DisplayName 'mfagate RADIUS' -ErrorAction SilentlyContinue)) {
    New-NetFirewallRule -DisplayName 'mfagate RADIUS' -Direction Inbound -Protocol UDP -LocalPort 1812,1813 -Action Allow | Out-Null
    New-NetFirewallRule -DisplayName 'mfagate LDAP' -Direction Inbound -Protocol TCP -LocalPort 389,636 -Action Allow | Out-Null
  }
}
Write-Host "mfagate is installed and running. Logs: $dataRoot\logs; CLI: & '$InstallDir\mfagate.exe' user list -c '$configPath'"
