<#
.SYNOPSIS
  Removes the mfagate Windows service and its program files.

.DESCRIPTION
  Stops and unregisters the service, removes the firewall rules install.ps1 made and the
  installation directory. %ProgramData%\mfagate (the store, its keys, the configuration and
  the logs) is kept unless -RemoveData is given: take a backup first
  (`mfagate.exe backup FILE -c CONFIG`), since the store holds every user's enrolled
  authenticator.
#>
[CmdletBinding()]
param(
  [string] $InstallDir = (Join-Path $env:ProgramFiles 'mfagate'),
  [switch] $RemoveData
)
$ErrorActionPreference = 'Stop'
$service = Join-Path $InstallDir 'mfagate-service.exe'
if (Get-Service -Name 'mfagate' -ErrorAction SilentlyContinue) {
  & $service stop
  & $service uninstall
  if ($LASTEXITCODE -ne 0) { throw 'WinSW could not remove the service.' }
}
Get-NetFirewallRule -DisplayName 'mfagate RADIUS', 'mfagate LDAP' -ErrorAction SilentlyContinue | Remove-NetFirewallRule
Remove-Item -LiteralPath $InstallDir -Recurse -Force -ErrorAction SilentlyContinue
if ($RemoveData) {
  Remove-Item -LiteralPath (Join-Path $env:ProgramData 'mfagate') -Recurse -Force
  Write-Host 'mfagate and its data are removed.'
} else {
  Write-Host "mfagate is removed; its data stays in $(Join-Path $env:ProgramData 'mfagate')."
}
